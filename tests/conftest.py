import os

from hypothesis import HealthCheck, settings

# Deterministic by default (the same examples on every run, as CI needs); set
# HYPOTHESIS_PROFILE=explore locally to search further with fresh random examples.
settings.register_profile("deterministic", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
