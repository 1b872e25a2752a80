"""What a history leaves for the statistics: episode sums per quantity and cause, sketches,
regenerative cycles, and the attribution of down time to causes."""
