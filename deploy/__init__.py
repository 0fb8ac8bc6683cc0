"""Deploy Pac-Arena to AWS: image instructions, task definition, service update, client upload."""
