class Extract:  # neither a Task subclass nor decorated
    def run(self) -> None:
        pass
