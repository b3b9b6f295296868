"""The FAQ bot's logic, free of the component bindings so that it unit-tests natively."""
