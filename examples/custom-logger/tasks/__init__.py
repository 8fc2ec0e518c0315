"""This project's tasks."""
