"""Operations: the alerts topic, people-facing alarms and the monthly budget of a phase."""
