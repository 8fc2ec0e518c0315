import os

from hypothesis import HealthCheck, settings

# CI runs the same examples every time (a failure there must be reproducible); locally each
# run explores new ones. HYPOTHESIS_PROFILE=soak digs deeper.
settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "soak", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
