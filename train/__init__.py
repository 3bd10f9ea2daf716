"""Training data and scripts for the models trained here; never imported by the app."""
