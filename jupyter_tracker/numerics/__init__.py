"""Pure numerical functions shared by the live panel, the readers and the server:
smoothing, decimation, and the array checks they share. No I/O, no widgets."""
