"""Words of the indexing family (x[...], gather, scatter, index_select, masks, where, nonzero)."""

from __future__ import annotations

EN: dict[str, str] = {
    "indexing.summary": "indexing: the index-shape rule dimension by dimension, one element traced to its source",
    "indexing.getitem.title": "Indexing",
    "indexing.gather.title": "Gathered along a dimension",
    "indexing.index_select.title": "Rows selected by index",
    "indexing.scatter.title": "Scattered into a copy",
    "indexing.index_put.title": "Written at listed positions of a copy",
    "indexing.masked.title": "A boolean mask",
    "indexing.where.title": "Picked from two tensors by a condition",
    "indexing.nonzero.title": "Positions of the non-zero elements",
    "indexing.rule.title": "The index-shape rule",
    "indexing.col.index": "index",
    "indexing.col.dim": "input dim",
    "indexing.col.rule": "what it does",
    "indexing.col.operand": "operand",
    "indexing.col.shape": "shape",
    "indexing.rule.none": "adds a dimension of size 1",
    "indexing.rule.int": "picks one position: the dimension disappears",
    "indexing.rule.slice": "keeps positions from {start} in steps of {step}",
    "indexing.rule.array": "advanced: replaced by the broadcast of the index tensors",
    "indexing.rule.mask": "advanced: one entry per True, its dimensions replaced by their count",
    "indexing.mask": "mask {shape}",
    "indexing.array": "index tensor {shape}",
    "indexing.getitem.note": "Each index acts on its own input dimension, from the left; unindexed "
    "dimensions on the right are kept whole.",
    "indexing.getitem.block": "The index tensors {shapes} broadcast to {block}: that block of dimensions "
    "replaces the dimensions they index.",
    "indexing.getitem.together": "They sit next to each other, so the block stays in their place.",
    "indexing.getitem.front": "They are separated by a slice or None, so torch puts the block first.",
    "indexing.mask.unknown": "A boolean mask over {shape} keeps as many elements as it has True values, "
    "and shape-only tensors have no values: the size is at most the mask's number of elements.",
    "indexing.gather.note": "The result has the shape of {index}, {shape}: each element is {name} at the "
    "same indices, except along dimension {dim}, where the position is read from {index}.",
    "indexing.index_select.note": "Along dimension {dim}, the {n} position(s) listed in {index} are taken "
    "in that order; the other dimensions are kept whole.",
    "indexing.scatter.note": "{fn} returns a copy of {name} with the same shape; along dimension {dim}, "
    "each element of the source goes to the position read from {index}, the other indices unchanged.",
    "indexing.scatter.none": "nothing written here, kept",
    "indexing.index_put.note": "{fn} returns a copy of {name} with the same shape; the positions listed "
    "in {index} along dimension {dim} get the source (index_add adds it).",
    "indexing.masked_fill.note": "The mask {mask} {shape} broadcasts against {name}; where it is True "
    "the value is written, elsewhere {name} is kept. The shape does not change.",
    "indexing.masked_select.note": "The mask {mask} broadcast to {shape} keeps the elements where it is "
    "True, in row-major order, as a 1-D tensor: its size is the number of True values (0 to {n}), which "
    "depends on the values, not on the shapes.",
    "indexing.where.note": "{cond}, {a} and {b} broadcast to {shape}; where {cond} is True the element "
    "comes from {a}, else from {b}.",
    "indexing.nonzero.note": "One row per non-zero element of {name}, holding its {n} index(es): the "
    "number of rows (0 to {numel}) depends on the values, not on the shapes.",
    "indexing.nonzero.trace": "row {k}: {where} = {value}",
    "indexing.err.dtype": "The index {index} holds {dtype} numbers; indices must be integers (or bool "
    "for a mask).",
    "indexing.err.dtype.hint": "Convert it: {code}",
    "indexing.err.device": "The tensors are on different devices ({devices}).",
    "indexing.err.device.hint": "Move the index to the tensor's device: {code}",
    "indexing.err.mask": "The mask {mask} does not match the indexed dimensions {shape} (from dimension "
    "{at}): a mask must have exactly the sizes of the dimensions it covers.",
    "indexing.err.mask.hint": "Build the mask from {name} itself, e.g. mask = {name} > 0, or index only "
    "the dimensions it covers.",
    "indexing.err.gather_dims": "{index} has {k} dimension(s) and {name} {shape} has {n}: gather needs "
    "the index to have as many dimensions as the input.",
    "indexing.err.gather_dims.hint": "Give the index the input's number of dimensions: {code}",
    "indexing.err.range": "{index}[{where}] is {value}, but the dimension has size {size}: valid indices "
    "are {lo} to {hi}.",
    "indexing.err.range.hint": "Keep the indices from {lo} to {hi}, e.g. {code} (or find where the bad "
    "index comes from).",
    "error_title.index_dtype": "Indices must be integers",
    "error_title.index_device": "Tensors on different devices",
    "error_title.mask_shape": "Mask shape does not match",
    "error_title.gather_dims": "Index and input dimensions differ",
    "error_title.index_out_of_range": "Index out of range",
}

ES: dict[str, str] = {
    "indexing.summary": "indexación: la regla de la forma del índice dimensión por dimensión, un "
    "elemento rastreado hasta su origen",
    "indexing.getitem.title": "Indexación",
    "indexing.gather.title": "Recogido a lo largo de una dimensión",
    "indexing.index_select.title": "Filas elegidas por índice",
    "indexing.scatter.title": "Repartido en una copia",
    "indexing.index_put.title": "Escrito en las posiciones indicadas de una copia",
    "indexing.masked.title": "Una máscara booleana",
    "indexing.where.title": "Elegido entre dos tensores según una condición",
    "indexing.nonzero.title": "Posiciones de los elementos distintos de cero",
    "indexing.rule.title": "La regla de la forma del índice",
    "indexing.col.index": "índice",
    "indexing.col.dim": "dimensión de la entrada",
    "indexing.col.rule": "qué hace",
    "indexing.col.operand": "operando",
    "indexing.col.shape": "forma",
    "indexing.rule.none": "añade una dimensión de tamaño 1",
    "indexing.rule.int": "elige una posición: la dimensión desaparece",
    "indexing.rule.slice": "conserva las posiciones desde {start} con paso {step}",
    "indexing.rule.array": "avanzado: se sustituye por el broadcasting de los tensores índice",
    "indexing.rule.mask": "avanzado: una entrada por cada True, sus dimensiones sustituidas por su cuenta",
    "indexing.mask": "máscara {shape}",
    "indexing.array": "tensor índice {shape}",
    "indexing.getitem.note": "Cada índice actúa sobre su propia dimensión de la entrada, desde la "
    "izquierda; las dimensiones de la derecha sin índice se conservan enteras.",
    "indexing.getitem.block": "Los tensores índice {shapes} hacen broadcasting a {block}: ese bloque de "
    "dimensiones sustituye a las dimensiones que indexan.",
    "indexing.getitem.together": "Están uno junto a otro, así que el bloque se queda en su sitio.",
    "indexing.getitem.front": "Están separados por un slice o None, así que torch pone el bloque delante.",
    "indexing.mask.unknown": "Una máscara booleana sobre {shape} conserva tantos elementos como valores "
    "True tiene, y los tensores solo de forma no tienen valores: el tamaño es como mucho el número de "
    "elementos de la máscara.",
    "indexing.gather.note": "El resultado tiene la forma de {index}, {shape}: cada elemento es {name} en "
    "los mismos índices, salvo en la dimensión {dim}, donde la posición se lee de {index}.",
    "indexing.index_select.note": "En la dimensión {dim} se toman, en ese orden, las {n} posición(es) de "
    "{index}; las demás dimensiones se conservan enteras.",
    "indexing.scatter.note": "{fn} devuelve una copia de {name} con la misma forma; en la dimensión {dim}, "
    "cada elemento del origen va a la posición leída de {index}, con los demás índices iguales.",
    "indexing.scatter.none": "aquí no se escribe nada, se conserva",
    "indexing.index_put.note": "{fn} devuelve una copia de {name} con la misma forma; las posiciones de "
    "{index} en la dimensión {dim} reciben el origen (index_add lo suma).",
    "indexing.masked_fill.note": "La máscara {mask} {shape} hace broadcasting contra {name}; donde es True "
    "se escribe el valor, en el resto se conserva {name}. La forma no cambia.",
    "indexing.masked_select.note": "La máscara {mask} con broadcasting a {shape} conserva los elementos "
    "donde es True, por filas, en un tensor 1-D: su tamaño es el número de valores True (de 0 a {n}), "
    "que depende de los valores, no de las formas.",
    "indexing.where.note": "{cond}, {a} y {b} hacen broadcasting a {shape}; donde {cond} es True el "
    "elemento viene de {a}, si no de {b}.",
    "indexing.nonzero.note": "Una fila por cada elemento distinto de cero de {name}, con sus {n} "
    "índice(s): el número de filas (de 0 a {numel}) depende de los valores, no de las formas.",
    "indexing.nonzero.trace": "fila {k}: {where} = {value}",
    "indexing.err.dtype": "El índice {index} tiene números {dtype}; los índices deben ser enteros (o "
    "bool para una máscara).",
    "indexing.err.dtype.hint": "Conviértelo: {code}",
    "indexing.err.device": "Los tensores están en dispositivos distintos ({devices}).",
    "indexing.err.device.hint": "Lleva el índice al dispositivo del tensor: {code}",
    "indexing.err.mask": "La máscara {mask} no coincide con las dimensiones indexadas {shape} (desde la "
    "dimensión {at}): una máscara debe tener justo los tamaños de las dimensiones que cubre.",
    "indexing.err.mask.hint": "Construye la máscara a partir de {name}, p. ej. mask = {name} > 0, o "
    "indexa solo las dimensiones que cubre.",
    "indexing.err.gather_dims": "{index} tiene {k} dimensión(es) y {name} {shape} tiene {n}: gather "
    "necesita que el índice tenga tantas dimensiones como la entrada.",
    "indexing.err.gather_dims.hint": "Da al índice el número de dimensiones de la entrada: {code}",
    "indexing.err.range": "{index}[{where}] vale {value}, pero la dimensión tiene tamaño {size}: los "
    "índices válidos van de {lo} a {hi}.",
    "indexing.err.range.hint": "Mantén los índices entre {lo} y {hi}, p. ej. {code} (o busca de dónde "
    "viene el índice erróneo).",
    "error_title.index_dtype": "Los índices deben ser enteros",
    "error_title.index_device": "Tensores en dispositivos distintos",
    "error_title.mask_shape": "La forma de la máscara no coincide",
    "error_title.gather_dims": "El índice y la entrada tienen distintas dimensiones",
    "error_title.index_out_of_range": "Índice fuera de rango",
}
