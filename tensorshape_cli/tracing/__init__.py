"""The front-end that runs the user's own code and records every torch call it makes:
`tshape trace`, `tshape.trace()` and `%%tshape`. (Named tracing, not trace: a subpackage
`trace` would replace the function `tensorshape_cli.trace` once imported.)

- recorder.py   a TorchFunctionMode plus global module hooks: the calls, as plain records
- steps.py      records → one Explanation (op "trace"), folded by --depth
- explain_failure.py  the failing call → an OpError, with the dedicated op when one fits
- target.py     FILE.py:NAME for `tshape trace`: load the file as Python imports it, bind -i

What one step is (the depth a trace shows):
- a torch call made by the user's code (a function, a Tensor method, an operator, indexing)
  that returns a tensor; calls that return plain values (x.shape, x.size(0), x.dim()) are not
  steps, they change no shape;
- one call of a module torch defines (nn.Linear, nn.Conv2d, nn.LSTM, nn.TransformerEncoderLayer):
  its inputs and output, and when it made a single call (F.linear), that call's arguments;
  torch's code inside it is not shown. nn.Sequential, nn.ModuleList and nn.ModuleDict are
  see-through: their children are steps;
- the modules the user writes are see-through too, unless --depth folds them;
- a call torch makes below a recorded call is never seen (the mode is off while a call runs),
  and calls torch's module code makes outside a forward (a layer's __init__ drawing its weights,
  .to()) are left out.
"""
