"""The order-status action's logic, free of the component bindings so that it unit-tests natively."""
