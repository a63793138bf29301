"""A package, so that model.py can import its helpers relatively."""
