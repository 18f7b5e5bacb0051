"""GraphBuilder: the nodes and initializers of one ONNX graph, accumulated in order.

The layer and activation converters (onnx_layers.py, onnx_activations.py) append to it; it owns
naming (every node and value named after the layer it comes from, made unique) and the model's
element type (every initializer is stored in it). It knows nothing about densekit layers.
"""

import numpy as np
from onnx import helper, numpy_helper


class GraphBuilder:
    """Accumulates one graph. `dtype` is the model's (float32 or float64); `opset` the target
    ONNX operator set; `scope` the name prefix of what is being added (the current layer)."""

    def __init__(self, dtype, opset):
        self.dtype = np.dtype(dtype)
        self.opset = int(opset)
        self.elem_type = helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes = []
        self.initializers = []
        self.scope = ""
        self._taken = set()

    @property
    def float64(self):
        return self.dtype == np.float64

    def _unique(self, base):
        name, k = base, 1
        while name in self._taken:
            name = f"{base}_{k}"
            k += 1
        self._taken.add(name)
        return name

    def _scoped(self, what):
        return f"{self.scope}/{what}" if self.scope else what

    def reserve(self, name):
        """Claims a graph-level name (the graph's input and output)."""
        self._taken.add(name)
        return name

    def const(self, what, value, dtype=None):
        """An initializer holding `value` in the model's dtype (or `dtype`); returns its name."""
        array = np.ascontiguousarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self._unique(self._scoped(what))
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def scalar(self, what, value):
        """A 0-d initializer in the model's dtype (broadcasts against any tensor)."""
        return self.const(what, np.asarray(value, dtype=np.float64).astype(self.dtype))

    def op(self, op_type, inputs, what=None, **attributes):
        """Appends one node; returns the name of its (single) output."""
        name = self._unique(self._scoped(what or op_type))
        output = self._unique(name + ":0")
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=name,
                                           **attributes))
        return output

    def rename_value(self, old, new):
        """Renames a node output (used to give the graph's result its public name)."""
        for node in self.nodes:
            for i, out in enumerate(node.output):
                if out == old:
                    node.output[i] = new
            for i, inp in enumerate(node.input):
                if inp == old:
                    node.input[i] = new
