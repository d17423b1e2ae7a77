"""The live plane: the socket protocol, consumers, the channel layer, presence and limits."""
