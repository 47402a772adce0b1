"""The model: training, versioned artifacts, and the scoring core shared by stream and batch."""
