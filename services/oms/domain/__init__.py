"""Pure OMS logic: order state machine, average-cost positions, the Oms aggregate. No I/O."""
