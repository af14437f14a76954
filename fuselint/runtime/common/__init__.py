"""Code that more than one party imports: the tensor file format (`wire`), the message pipe
(`channel`), loading a user's file (`loading`), the timed-call loop (`timing`). The candidate's
process holds its own copy of these modules and may change it; fuselint's copy stays its own."""
