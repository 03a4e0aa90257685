"""STAND-IN for habana_frameworks.torch.utils."""
