"""Executors, under the module paths redun users import them from."""
