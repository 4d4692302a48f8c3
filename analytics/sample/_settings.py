"""What the shipped sample is simulated from (``client-health sample`` rebuilds it from these)."""

SAMPLE_CLIENTS = 3000
SAMPLE_SEED = 7
SAMPLE_START, SAMPLE_END = "2023-01-01", "2026-01-01"
