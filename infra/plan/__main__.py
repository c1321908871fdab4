"""``python -m infra.plan <phase|all>``: what ``pulumi up`` would create, without a cloud.

See :mod:`infra.plan.cli`. This entry point only prepares the process for one short plan.
"""

import gc
import sys

from infra.plan.lazy_sdk import install

if __name__ == "__main__":
    # Before any provider SDK is imported: this short process loads only the SDK modules the
    # phase uses (infra/plan/lazy_sdk.py; bench/plan_time.py measures it). Never from
    # infra/__init__.py: `pulumi up` loads the SDKs as Pulumi does.
    install()

    from infra.policy.launch import discover_packs, launch

    # A plan is one short process that builds tens of thousands of SDK classes and frees
    # almost nothing: the cyclic collector's passes over that growing heap cost about a
    # quarter of its run and reclaim ~2% of its peak memory, so it stays off.
    gc.disable()
    # Each policy pack is a Python process that needs about a second to load: launched
    # before this process imports the program, they load on the other core meanwhile.
    launched = [launch(pack_dir) for pack_dir in discover_packs()]

    from infra.plan.cli import close_event_loops, main, record_event_loops

    record_event_loops()
    status = main(launched_packs=launched)
    close_event_loops()
    # And the collection the interpreter runs at exit would walk the whole heap once more
    # just before the operating system reclaims it: exempt every object from it.
    gc.freeze()
    sys.exit(status)
