"""Extensions of this project: every module here is imported, so each @extension is known."""
