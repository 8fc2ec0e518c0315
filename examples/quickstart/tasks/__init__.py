"""The quickstart's tasks: every module here is imported, so each @task class is known."""
