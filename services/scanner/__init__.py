"""Scanner service: finds cross-venue arbitrage and forex signals in market data."""
