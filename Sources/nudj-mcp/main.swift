print("nudj-mcp")
