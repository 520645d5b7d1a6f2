"""Words of the shape family (movedim, repeat, split, pad, roll, flip, …), and the moves.* words
the shape and indexing families share (ops/families/_moves.py)."""

from __future__ import annotations

EN: dict[str, str] = {
    "shape.summary": "shape ops: where each dimension goes, pieces, repeats, padding",
    "shape.movedim.title": "Dimensions moved",
    "shape.unflatten.title": "One dimension unflattened into several",
    "shape.repeat.title": "Repeated along dimensions",
    "shape.repeat_interleave.title": "Each element repeated in place",
    "shape.split.title": "Pieces",
    "shape.narrow.title": "A slice of one dimension",
    "shape.roll.title": "Elements rolled",
    "shape.flip.title": "Elements flipped",
    "shape.diagonal.title": "A diagonal",
    "shape.tril.title": "A triangle kept, the rest zeroed",
    "shape.pad.title": "Padding",
    "shape.take.title": "Elements taken by flat index",
    "shape.meshgrid.title": "Coordinate grids",
    "shape.atleast.title": "At least N dimensions",
    "shape.rule.title": "Where each dimension goes",
    "shape.movedim.note": "The result's dimension i is the input's dimension order[i], order = [{order}]; "
    "each keeps its size. No element is computed: y[i, j, …] is the input's element with the same "
    "indices put back in their old places.",
    "shape.unflatten.note": "Dimension {dim} of size {size} becomes {sizes} = {size}; the other dimensions "
    "keep their sizes. Indices in the new dimensions combine row-major into the old index.",
    "shape.col.size_in": "size in {name}",
    "shape.col.times": "times",
    "shape.added": "{size} (added)",
    "shape.repeat.note": "{fn}: each dimension's size is multiplied by its count; the counts line up "
    "with the dimensions from the last one.",
    "shape.repeat.added": "There are {k} more counts than dimensions: new dimensions of size 1 are "
    "added in front first.",
    "shape.repeat.trace": "y[i] is the input at i modulo the size, in each dimension.",
    "shape.repeat_interleave.note": "Along dimension {dim}, each of the {size} elements is repeated in "
    "place, one after another: {total} in all (repeat would repeat the whole block instead).",
    "shape.repeat_interleave.flat": "Without dim, the input {shape} is flattened first to its {n} elements.",
    "shape.repeat_interleave.tensor": "With a tensor of counts, the new size is their sum over the {size} "
    "elements.",
    "shape.repeat_interleave.unknown": "The counts are values, and shape-only tensors have none: the size "
    "cannot be known without them (give output_size=, or real values).",
    "shape.split.size": "Dimension {dim} of size {size} is cut into pieces of {step}: {n} piece(s), the "
    "last one smaller when {step} does not divide {size} (here {last}).",
    "shape.split.sizes": "Dimension {dim} of size {size} is cut into pieces of the sizes given: {sizes} = {size}.",
    "shape.split.chunk": "chunk({chunks}) along dimension {dim} of size {size}: each piece has "
    "ceil({size} / {chunks}) = {step}, so there are {n} piece(s) (can be fewer than {chunks}), the last "
    "one smaller.",
    "shape.split.sections": "{sections} sections of dimension {dim} of size {size}: the first {extra} "
    "have {big}, the others {small}.",
    "shape.split.indices": "Dimension {dim} of size {size} is cut before the indices {cuts}.",
    "shape.col.piece": "piece",
    "shape.col.positions": "positions along dim {dim}",
    "shape.unbind.note": "Dimension {dim} of size {size} is removed: {size} tensors of shape {shape}, one "
    "per index.",
    "shape.select.note": "Dimension {dim} is removed, keeping index {index} only.",
    "shape.narrow.note": "Along dimension {dim}, positions {start} to {end} (excluded) are kept: {length} "
    "of them.",
    "shape.roll.flat": "Without dims, the input is flattened, its {n} elements shifted by {shift} (the "
    "ones pushed off the end come back at the start), and the shape restored.",
    "shape.roll.dim": "Along dimension {dim} of size {size} the elements move {shift} place(s): y[i] is "
    "the input at (i - {shift}) modulo {size}.",
    "shape.flip.dim": "Along dimension {dim}, index i reads index {last} - i.",
    "shape.rot90.note": "Rotated {k} time(s) by 90 degrees in the plane of dimensions {d0} and {d1}: "
    "k=1 is a flip of dimension {d1} then a swap of {d0} and {d1}.",
    "shape.diagonal.note": "Dimensions {d1} and {d2} (sizes {a} and {b}) are removed and their diagonal "
    "with offset {offset} is appended as the last dimension: {length} element(s).",
    "shape.diag_embed.note": "The last dimension of size {size} becomes a diagonal with offset {offset} of "
    "a square of side {m} (dimensions {d1} and {d2}); everything off it is 0.",
    "shape.off_diagonal": "off the diagonal (i={i}, j={j}): 0",
    "shape.tril.note": "The shape stays. Element (i, j) of the last two dimensions is kept when j - i <= "
    "{diagonal}, else set to 0.",
    "shape.triu.note": "The shape stays. Element (i, j) of the last two dimensions is kept when j - i >= "
    "{diagonal}, else set to 0.",
    "shape.tril.zero": "j - i = {diff} against diagonal={diagonal}: set to 0",
    "shape.pad.rule": "Which dimension each pair pads",
    "shape.pad.note": "The pad list has {n} numbers, {pairs} pair(s) (before, after), and it starts at "
    "the LAST dimension: the first pair pads the last dimension, the next one the one before it (here "
    "dimension(s) {dims}). Mode '{mode}'.",
    "shape.col.pair": "pair",
    "shape.col.left": "before",
    "shape.col.right": "after",
    "shape.pad.fill": "filled with {value}",
    "shape.take.note": "take reads the input as if flattened (indices 0 to {last} of {n}); the result "
    "has the shape of {index}, {shape}.",
    "shape.meshgrid.note": "{n} vectors of sizes {sizes}: each output has shape {shape}, and output k "
    "repeats vector k along dimension k.",
    "shape.meshgrid.xy": "indexing='xy' swaps the first two dimensions (as in NumPy), so the first vector "
    "varies along the columns.",
    "shape.atleast.note": "Tensors with fewer than {n} dimensions get dimensions of size 1; the others "
    "are returned as they are.",
    "shape.err.dim": "The input {shape} has {n} dimension(s): valid dims are {lo} to {hi}.",
    "shape.err.dim.hint": "Use a dim from {lo} to {hi} (-1 is the last one).",
    "shape.err.split_sizes": "The piece sizes {sizes} add up to {total}, but dimension {dim} has {size}.",
    "shape.err.split_sizes.hint": "Make the sizes add up to the dimension's size: {code}",
    "shape.err.sections": "{fn} cuts dimension {dim} of size {size} into {sections} equal parts, and "
    "{sections} does not divide {size}.",
    "shape.err.sections.hint": "For unequal parts: {code}",
    "shape.err.repeat": "repeat needs a count for every dimension: {k} count(s) for {n} dimension(s) of {shape}.",
    "shape.err.repeat.hint": "Give 1 for the dimensions to keep: {code}, or {tile}, which adds the 1s itself.",
    "shape.err.unflatten": "The sizes {sizes} multiply to {product} = {total}, but dimension {dim} has "
    "{size}.",
    "shape.err.unflatten.hint": "Sizes whose product is the dimension's size, or one -1 to infer: {code}",
    "shape.err.narrow": "Positions {start} to {end} do not fit in dimension {dim} of size {size}.",
    "shape.err.narrow.hint": "start + length must be at most {size}: {code}",
    "shape.err.pad_odd": "The pad list has {n} numbers: they go in pairs (before, after), so it needs an "
    "even count.",
    "shape.err.pad_odd.hint": "Give both sides of each dimension: {code}",
    "shape.err.pad_long": "{n} numbers are {pairs} pairs, but the input {shape} has {dims} dimension(s) to pad.",
    "shape.err.pad_long.hint": "At most two numbers per dimension, the last dimension first: {code}",
    "shape.err.reflect": "Reflect padding ({left}, {right}) of dimension {dim} must be smaller than its size {size}.",
    "shape.err.reflect.hint": "Pad less, or repeat the edge instead: {code}",
    "error_title.split_sizes": "Piece sizes do not add up",
    "error_title.split_sections": "Unequal sections",
    "error_title.repeat_dims": "Too few repeat counts",
    "error_title.unflatten_sizes": "Sizes do not multiply to the dimension",
    "error_title.narrow_range": "Slice out of range",
    "error_title.pad_length": "Wrong pad list",
    "error_title.pad_reflect": "Padding too large",
    # shared by the shape and indexing families (ops/families/_moves.py)
    "moves.col.dim": "dimension",
    "moves.col.from": "from input dim",
    "moves.col.size": "size",
    "moves.check.piece": "piece {k}: {name}[{k}][{index}]",
    "moves.check.element": "{name}[{index}]",
    "moves.check.piece_shape": "shape of piece {k}",
    "moves.check.count": "number of pieces",
    "moves.unknown.title": "Size unknown",
    "moves.unknown": "This result's size depends on the values, and shape-only tensors have none: torch "
    "cannot say its shape without them. Give real values to see it.",
}

ES: dict[str, str] = {
    "shape.summary": "operaciones de forma: adónde va cada dimensión, piezas, repeticiones, padding",
    "shape.movedim.title": "Dimensiones movidas",
    "shape.unflatten.title": "Una dimensión desplegada en varias",
    "shape.repeat.title": "Repetido a lo largo de las dimensiones",
    "shape.repeat_interleave.title": "Cada elemento repetido en su sitio",
    "shape.split.title": "Piezas",
    "shape.narrow.title": "Un tramo de una dimensión",
    "shape.roll.title": "Elementos desplazados en círculo",
    "shape.flip.title": "Elementos invertidos",
    "shape.diagonal.title": "Una diagonal",
    "shape.tril.title": "Se conserva un triángulo, el resto a cero",
    "shape.pad.title": "Relleno con padding",
    "shape.take.title": "Elementos tomados por índice plano",
    "shape.meshgrid.title": "Rejillas de coordenadas",
    "shape.atleast.title": "Al menos N dimensiones",
    "shape.rule.title": "Adónde va cada dimensión",
    "shape.movedim.note": "La dimensión i del resultado es la dimensión order[i] de la entrada, order = "
    "[{order}]; cada una conserva su tamaño. No se calcula ningún elemento: y[i, j, …] es el elemento de "
    "la entrada con los mismos índices devueltos a su sitio.",
    "shape.unflatten.note": "La dimensión {dim} de tamaño {size} pasa a ser {sizes} = {size}; las demás "
    "conservan su tamaño. Los índices de las nuevas dimensiones se combinan por filas en el antiguo.",
    "shape.col.size_in": "tamaño en {name}",
    "shape.col.times": "veces",
    "shape.added": "{size} (añadida)",
    "shape.repeat.note": "{fn}: el tamaño de cada dimensión se multiplica por su cuenta; las cuentas se "
    "alinean con las dimensiones desde la última.",
    "shape.repeat.added": "Hay {k} cuentas más que dimensiones: primero se añaden delante dimensiones de "
    "tamaño 1.",
    "shape.repeat.trace": "y[i] es la entrada en i módulo el tamaño, en cada dimensión.",
    "shape.repeat_interleave.note": "A lo largo de la dimensión {dim}, cada uno de los {size} elementos se "
    "repite en su sitio, uno tras otro: {total} en total (repeat repetiría el bloque entero).",
    "shape.repeat_interleave.flat": "Sin dim, la entrada {shape} se aplana primero en sus {n} elementos.",
    "shape.repeat_interleave.tensor": "Con un tensor de cuentas, el nuevo tamaño es su suma sobre los "
    "{size} elementos.",
    "shape.repeat_interleave.unknown": "Las cuentas son valores, y los tensores solo de forma no los "
    "tienen: el tamaño no se puede saber sin ellos (da output_size=, o valores reales).",
    "shape.split.size": "La dimensión {dim} de tamaño {size} se corta en piezas de {step}: {n} pieza(s), "
    "la última más pequeña cuando {step} no divide a {size} (aquí {last}).",
    "shape.split.sizes": "La dimensión {dim} de tamaño {size} se corta en piezas de los tamaños dados: "
    "{sizes} = {size}.",
    "shape.split.chunk": "chunk({chunks}) a lo largo de la dimensión {dim} de tamaño {size}: cada pieza "
    "tiene ceil({size} / {chunks}) = {step}, así que hay {n} pieza(s) (pueden ser menos de {chunks}), la "
    "última más pequeña.",
    "shape.split.sections": "{sections} secciones de la dimensión {dim} de tamaño {size}: las primeras "
    "{extra} tienen {big}, las demás {small}.",
    "shape.split.indices": "La dimensión {dim} de tamaño {size} se corta antes de los índices {cuts}.",
    "shape.col.piece": "pieza",
    "shape.col.positions": "posiciones en la dimensión {dim}",
    "shape.unbind.note": "Se quita la dimensión {dim} de tamaño {size}: {size} tensores de forma {shape}, "
    "uno por índice.",
    "shape.select.note": "Se quita la dimensión {dim}, conservando solo el índice {index}.",
    "shape.narrow.note": "En la dimensión {dim} se conservan las posiciones de {start} a {end} (excluida): "
    "{length} en total.",
    "shape.roll.flat": "Sin dims, la entrada se aplana, sus {n} elementos se desplazan {shift} (los que "
    "salen por el final vuelven por el principio) y se recupera la forma.",
    "shape.roll.dim": "En la dimensión {dim} de tamaño {size} los elementos se mueven {shift} lugar(es): "
    "y[i] es la entrada en (i - {shift}) módulo {size}.",
    "shape.flip.dim": "En la dimensión {dim}, el índice i lee el índice {last} - i.",
    "shape.rot90.note": "Girado {k} vez/veces 90 grados en el plano de las dimensiones {d0} y {d1}: k=1 "
    "invierte la dimensión {d1} y luego intercambia {d0} y {d1}.",
    "shape.diagonal.note": "Se quitan las dimensiones {d1} y {d2} (tamaños {a} y {b}) y su diagonal con "
    "desplazamiento {offset} se añade como última dimensión: {length} elemento(s).",
    "shape.diag_embed.note": "La última dimensión de tamaño {size} pasa a ser una diagonal con "
    "desplazamiento {offset} de un cuadrado de lado {m} (dimensiones {d1} y {d2}); fuera de ella todo es 0.",
    "shape.off_diagonal": "fuera de la diagonal (i={i}, j={j}): 0",
    "shape.tril.note": "La forma no cambia. El elemento (i, j) de las dos últimas dimensiones se conserva "
    "si j - i <= {diagonal}; si no, pasa a 0.",
    "shape.triu.note": "La forma no cambia. El elemento (i, j) de las dos últimas dimensiones se conserva "
    "si j - i >= {diagonal}; si no, pasa a 0.",
    "shape.tril.zero": "j - i = {diff} frente a diagonal={diagonal}: pasa a 0",
    "shape.pad.rule": "Qué dimensión rellena cada par",
    "shape.pad.note": "La lista de padding tiene {n} números, {pairs} par(es) (antes, después), y empieza "
    "por la ÚLTIMA dimensión: el primer par rellena la última dimensión, el siguiente la anterior (aquí "
    "la(s) dimensión(es) {dims}). Modo '{mode}'.",
    "shape.col.pair": "par",
    "shape.col.left": "antes",
    "shape.col.right": "después",
    "shape.pad.fill": "relleno con {value}",
    "shape.take.note": "take lee la entrada como si estuviera aplanada (índices de 0 a {last} de {n}); el "
    "resultado tiene la forma de {index}, {shape}.",
    "shape.meshgrid.note": "{n} vectores de tamaños {sizes}: cada salida tiene forma {shape}, y la salida "
    "k repite el vector k a lo largo de la dimensión k.",
    "shape.meshgrid.xy": "indexing='xy' intercambia las dos primeras dimensiones (como en NumPy), así que "
    "el primer vector varía a lo largo de las columnas.",
    "shape.atleast.note": "Los tensores con menos de {n} dimensiones reciben dimensiones de tamaño 1; los "
    "demás se devuelven tal cual.",
    "shape.err.dim": "La entrada {shape} tiene {n} dimensión(es): las dims válidas van de {lo} a {hi}.",
    "shape.err.dim.hint": "Usa una dim de {lo} a {hi} (-1 es la última).",
    "shape.err.split_sizes": "Los tamaños de las piezas {sizes} suman {total}, pero la dimensión {dim} "
    "tiene {size}.",
    "shape.err.split_sizes.hint": "Haz que los tamaños sumen el tamaño de la dimensión: {code}",
    "shape.err.sections": "{fn} corta la dimensión {dim} de tamaño {size} en {sections} partes iguales, y "
    "{sections} no divide a {size}.",
    "shape.err.sections.hint": "Para partes desiguales: {code}",
    "shape.err.repeat": "repeat necesita una cuenta por dimensión: {k} cuenta(s) para {n} dimensión(es) "
    "de {shape}.",
    "shape.err.repeat.hint": "Da 1 para las dimensiones que se conservan: {code}, o {tile}, que añade los "
    "1 por sí solo.",
    "shape.err.unflatten": "Los tamaños {sizes} multiplicados dan {product} = {total}, pero la dimensión "
    "{dim} tiene {size}.",
    "shape.err.unflatten.hint": "Tamaños cuyo producto sea el de la dimensión, o un -1 para deducirlo: {code}",
    "shape.err.narrow": "Las posiciones de {start} a {end} no caben en la dimensión {dim} de tamaño {size}.",
    "shape.err.narrow.hint": "start + length debe ser como mucho {size}: {code}",
    "shape.err.pad_odd": "La lista de padding tiene {n} números: van por pares (antes, después), así que "
    "hace falta una cantidad par.",
    "shape.err.pad_odd.hint": "Da los dos lados de cada dimensión: {code}",
    "shape.err.pad_long": "{n} números son {pairs} pares, pero la entrada {shape} tiene {dims} "
    "dimensión(es) que rellenar.",
    "shape.err.pad_long.hint": "Como mucho dos números por dimensión, la última primero: {code}",
    "shape.err.reflect": "El padding 'reflect' ({left}, {right}) de la dimensión {dim} debe ser menor que "
    "su tamaño {size}.",
    "shape.err.reflect.hint": "Rellena menos, o repite el borde: {code}",
    "error_title.split_sizes": "Los tamaños de las piezas no suman",
    "error_title.split_sections": "Secciones desiguales",
    "error_title.repeat_dims": "Faltan cuentas de repeat",
    "error_title.unflatten_sizes": "Los tamaños no dan la dimensión",
    "error_title.narrow_range": "Tramo fuera de rango",
    "error_title.pad_length": "Lista de padding incorrecta",
    "error_title.pad_reflect": "Padding demasiado grande",
    "moves.col.dim": "dimensión",
    "moves.col.from": "de la dimensión de la entrada",
    "moves.col.size": "tamaño",
    "moves.check.piece": "pieza {k}: {name}[{k}][{index}]",
    "moves.check.element": "{name}[{index}]",
    "moves.check.piece_shape": "forma de la pieza {k}",
    "moves.check.count": "número de piezas",
    "moves.unknown.title": "Tamaño desconocido",
    "moves.unknown": "El tamaño de este resultado depende de los valores, y los tensores solo de forma no "
    "los tienen: torch no puede dar su forma sin ellos. Da valores reales para verla.",
}
