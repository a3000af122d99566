"""Plain ``nn.Module`` networks: recurrent encoders, heads and forecasting decoders."""
