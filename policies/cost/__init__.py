"""The cost policy pack (run by ``pulumi preview --policy-pack policies/cost``)."""
