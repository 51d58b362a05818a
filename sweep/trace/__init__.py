"""kmem traces: read them (`sweep trace import`) and write them (`sweep simulate --emit-trace`)."""
