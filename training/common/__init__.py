"""Code shared by the ecg-cds training scripts (metrics, data loading, reproducibility)."""
