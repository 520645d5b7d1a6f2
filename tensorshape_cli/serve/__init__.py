"""The warm server (`tshape serve start | stop | status`) and its client.

client.py runs before every `tshape` call, cold ones too: standard library only, and only its
cheapest modules. server.py is the warm process: torch, the ops and the renderers imported
once, and one forked child per call.
"""
