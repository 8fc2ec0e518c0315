"""Loggers of this project: every module here is imported, so each @logger class is known."""
