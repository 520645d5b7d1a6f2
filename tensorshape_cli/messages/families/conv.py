"""The words of the convolution and pooling family (ops/families/conv.py), in both languages."""

from __future__ import annotations

EN: dict[str, str] = {
    "conv.summary": "convolution and pooling: the output size per spatial dim, the channel rule, one element by hand",
    "conv.title": "{op}: the output size per spatial dimension, one element by hand",
    "conv.layer.title": "The layer",
    "conv.layer.note": "Its weight {wshape} and bias come from torch's own initialisation under --seed {seed}: "
    "uniform in ±1/√fan_in = ±{bound} (fan_in = in_channels/groups × kernel = {fan_in}).",
    "conv.layout.title": "Batched or unbatched",
    "conv.layout.batched": "{name} has {n} dims, read as a batch: {dims}.",
    "conv.layout.unbatched": "{name} has {n} dims, read as one sample without a batch dimension: {dims}.",
    "conv.channels.title": "The channel rule",
    "conv.channels.note": "{w} is (out_channels, in_channels/groups, *kernel) = {wshape}: the input needs "
    "{per} × groups {groups} = {cin} channels, and it has {cin}; the output gets out_channels = {cout} channels.",
    "conv.channels.transpose": "{w} is (in_channels, out_channels/groups, *kernel) = {wshape}: the input needs "
    "{cin} channels; the output gets {per} × groups {groups} = {cout} channels.",
    "conv.col.dim": "dimension",
    "conv.col.size": "input size",
    "conv.col.out": "output size",
    "conv.col.formula": "formula",
    "conv.row.dim": "spatial dim {i} ({name})",
    "conv.size.title": "The output size, dimension by dimension",
    "conv.size.note": "Each spatial dimension: {rule}. {lines}.",
    "conv.size.ceil": "ceil_mode=True rounds up, and a last window that would start in the right padding is dropped.",
    "conv.size.same": "padding='same' pads dilation·(kernel − 1) in all, so that the output keeps the input's size.",
    "conv.size.valid": "padding='valid' means no padding.",
    "conv.same_formula": "{h} (padding='same': {total} in all, {left} left and {right} right)",
    "conv.bins.title": "Adaptive pooling: the bins",
    "conv.bins.note": "Output position i pools the input from floor(i·size/out) up to ceil((i+1)·size/out) "
    "(bins may overlap): {lines}.",
    "conv.check.formula": "size formula",
    "conv.check.element": "element y[{index}]",
    "conv.element.title": "One output element by hand: y[{index}]",
    "conv.element.note": "y[{index}] is the kernel window over the input, {terms} products added up, plus the "
    "bias: {sum}.",
    "conv.element.padding": "Positions in the padding hold 0 and add nothing: only those inside the input are written.",
    "conv.window.title": "One window by hand: y[{index}]",
    "conv.window.max_pool": "y[{index}] is the largest of the {count} values in its window: {values} → {value}.",
    "conv.window.avg_pool": "y[{index}] is the mean of its window: {values} → {value}.",
    "conv.window.lp_pool": "y[{index}] is the p-norm of its window: {values} → {value}.",
    "conv.result": "The result has shape {shape}.",
    "conv.torch_says": "(torch: {message})",
    "conv.rank": "{op} takes a {lo}-D {lo_dims} unbatched or {hi}-D {hi_dims} batched input; "
    "{name} has {n} dims, shape {shape}.",
    "conv.rank.hint_missing": "add the missing dimension: {name}.unsqueeze(0) gives {one} (one channel), "
    "{name}[None, None] gives {both} (a batch of one)",
    "conv.rank.hint_extra": "merge the leading dimensions into the batch: {name}.flatten(0, {end}) gives {shape}",
    "conv.rank.hint_squeeze": "remove the extra size-1 dimension: {name}.squeeze({dim}) gives {shape}",
    "conv.unfold.note": "unfold copies, it does not add: y[{index}] is the first value of block ({block})'s "
    "window, {source}.",
    "conv.fold.channels": "fold reads dim -2 of {name} as C × ∏kernel, but {rows} (of {shape}) is not a multiple of "
    "∏kernel {kernel} = {k}.",
    "conv.fold.channels.hint": "give dim -2 a multiple of {k}, such as {low} or {high}",
    "conv.fold.blocks": "{name} has L = {got} blocks (dim -1 of {shape}), but output_size {size} gives {need} = "
    "{total} sliding blocks: {lines}.",
    "conv.fold.blocks.hint": "give {name} {total} blocks in its last dim (as F.unfold makes them), or an output_size "
    "whose blocks multiply to {got}",
    "error_title.fold_channels": "Rows not a multiple of the kernel",
    "error_title.fold_blocks": "Number of blocks does not match",
    "conv.rank.hint_other": "give {name} the layout the op reads, or use the op of its own rank ({op})",
    "conv.weight_rank": "{op} needs a {n}-D weight (out_channels, in_channels/groups, *kernel); "
    "the weight has {got} dims, shape {shape}.",
    "conv.weight_rank.hint": "make the weight with nn.Conv{n}d(in_channels, out_channels, kernel_size).weight",
    "conv.groups.out": "groups={groups} must divide out_channels = {out}, the weight's first size.",
    "conv.groups.both": "groups={groups} must divide both in_channels = {cin} and out_channels = {out}.",
    "conv.groups.hint": "choose groups among the common divisors of {cin} and {out}: {choices}, e.g. {layer}",
    "conv.channels": "{name} has {cin} channels (dim {dim} of {shape}), but the weight {wshape} expects "
    "in_channels = {per} × groups {groups} = {expected}.",
    "conv.channels.transposed": "{name} has {cin} channels (dim {dim} of {shape}), but the transposed weight "
    "{wshape} expects in_channels = {expected} (its first size).",
    "conv.hint.permute": "{name} looks channels-last: {name}.permute({order}) puts its {c} channels in dim 1",
    "conv.hint.expand": "a grayscale image into an RGB layer: {name}.expand({sizes}) repeats its one channel 3 times",
    "conv.hint.unsqueeze1": "{name} looks like a batch of one-channel images: {name}.unsqueeze(1) gives {shape}",
    "conv.hint.layer": "make the layer take the input's {cin} channels: {layer}",
    "conv.hint.or": "; or ",
    "conv.bias": "The bias has shape {shape}; it needs one value per output channel: ({out},).",
    "conv.bias.hint": "give a bias of shape ({out},), or bias=None",
    "conv.same_stride": "padding='same' keeps the size only with stride 1, and stride is {stride}.",
    "conv.same_stride.hint": "use stride=1, or padding={padding} with your stride (the output then shrinks by the stride)",
    "conv.pool_padding": "padding={padding} is more than half of kernel_size={kernel}: a window could hold only padding.",
    "conv.pool_padding.hint": "use padding={padding} at most",
    "conv.size.dim": "{dim}: the padded input is {h} + 2·{p} = {padded} but the kernel spans "
    "{d}·({k} − 1) + 1 = {span}, so {formula}",
    "conv.size.error": "The kernel does not fit in the padded input: {dims}.",
    "conv.size.hint": "a smaller kernel, kernel_size={kernel}; or more padding, padding={padding}",
    "conv.size.hint_kernel": "a smaller kernel, kernel_size={kernel}, or a larger input",
    "conv.size.transposed": "The output size would be 0 or less: {dims}.",
    "conv.size.transposed.hint": "use less padding, or a larger stride or kernel",
    "conv.cli.ints": "{what} takes an int ≥ {minimum} or {n} of them separated by commas (3 or 3,5), not {text!r}.",
    "conv.cli.positive": "--out-channels and --groups take an int ≥ 1.",
    "conv.cli.not_for": "{option} is not an option of {op}.",
    "conv.cli.words": "It also takes {words}.",
    "error_title.conv_rank": "Wrong number of dimensions",
    "error_title.conv_weight_rank": "Wrong weight dimensions",
    "error_title.conv_groups": "groups does not divide the channels",
    "error_title.conv_channels": "Channels do not match",
    "error_title.conv_bias": "Wrong bias shape",
    "error_title.conv_same_stride": "padding='same' with a stride",
    "error_title.pool_padding": "Padding larger than half the kernel",
    "error_title.conv_kernel_size": "Kernel larger than the input",
    "error_title.pool_output_size": "Output size 0",
    "error_title.conv_transpose_size": "Transposed output size 0 or less",
}

ES: dict[str, str] = {
    "conv.summary": "convolución y pooling: el tamaño de salida por dimensión espacial, la regla de canales, "
    "un elemento a mano",
    "conv.title": "{op}: el tamaño de salida por dimensión espacial, un elemento a mano",
    "conv.layer.title": "La capa",
    "conv.layer.note": "Su peso {wshape} y su bias vienen de la inicialización de torch con --seed {seed}: "
    "uniformes en ±1/√fan_in = ±{bound} (fan_in = in_channels/groups × kernel = {fan_in}).",
    "conv.layout.title": "Con batch o sin batch",
    "conv.layout.batched": "{name} tiene {n} dimensiones, leídas como un batch ({dims}).",
    "conv.layout.unbatched": "{name} tiene {n} dimensiones, leídas como una sola muestra sin dimensión de "
    "batch: {dims}.",
    "conv.channels.title": "La regla de los canales",
    "conv.channels.note": "{w} es (out_channels, in_channels/groups, *kernel) = {wshape}: la entrada necesita "
    "{per} × groups {groups} = {cin} canales, y tiene {cin}; la salida recibe out_channels = {cout} canales.",
    "conv.channels.transpose": "{w} es (in_channels, out_channels/groups, *kernel) = {wshape}: la entrada "
    "necesita {cin} canales; la salida recibe {per} × groups {groups} = {cout} canales.",
    "conv.col.dim": "dimensión",
    "conv.col.size": "tamaño de entrada",
    "conv.col.out": "tamaño de salida",
    "conv.col.formula": "fórmula",
    "conv.row.dim": "dimensión espacial {i} ({name})",
    "conv.size.title": "El tamaño de salida, dimensión por dimensión",
    "conv.size.note": "Cada dimensión espacial: {rule}. {lines}.",
    "conv.size.ceil": "ceil_mode=True redondea hacia arriba, y se descarta una última ventana que empezaría "
    "en el padding de la derecha.",
    "conv.size.same": "padding='same' añade dilation·(kernel − 1) en total, para que la salida conserve el "
    "tamaño de la entrada.",
    "conv.size.valid": "padding='valid' significa sin padding.",
    "conv.same_formula": "{h} (padding='same': {total} en total, {left} a la izquierda y {right} a la derecha)",
    "conv.bins.title": "Pooling adaptativo: los intervalos",
    "conv.bins.note": "La posición de salida i agrupa la entrada desde floor(i·tamaño/salida) hasta "
    "ceil((i+1)·tamaño/salida) (los intervalos pueden solaparse): {lines}.",
    "conv.check.formula": "fórmula del tamaño",
    "conv.check.element": "elemento y[{index}]",
    "conv.element.title": "Un elemento de la salida a mano: y[{index}]",
    "conv.element.note": "y[{index}] es la ventana del kernel sobre la entrada, {terms} productos sumados, más "
    "el bias: {sum}.",
    "conv.element.padding": "Las posiciones del padding valen 0 y no suman nada: solo se escriben las que "
    "caen dentro de la entrada.",
    "conv.window.title": "Una ventana a mano: y[{index}]",
    "conv.window.max_pool": "y[{index}] es el mayor de los {count} valores de su ventana: {values} → {value}.",
    "conv.window.avg_pool": "y[{index}] es la media de su ventana: {values} → {value}.",
    "conv.window.lp_pool": "y[{index}] es la norma p de su ventana: {values} → {value}.",
    "conv.result": "El resultado tiene forma {shape}.",
    "conv.torch_says": "(torch: «{message}»)",
    "conv.rank": "{op} recibe una entrada de {lo} dimensiones {lo_dims} sin batch o de {hi} dimensiones "
    "{hi_dims} con batch; {name} tiene {n} dimensiones, forma {shape}.",
    "conv.rank.hint_missing": "añade la dimensión que falta: {name}.unsqueeze(0) da {one} (un canal), "
    "{name}[None, None] da {both} (un batch de uno)",
    "conv.rank.hint_extra": "junta las dimensiones iniciales en el batch: {name}.flatten(0, {end}) da {shape}",
    "conv.rank.hint_squeeze": "quita la dimensión de tamaño 1 que sobra: {name}.squeeze({dim}) da {shape}",
    "conv.unfold.note": "unfold copia, no suma: y[{index}] es el primer valor de la ventana del bloque "
    "({block}), {source}.",
    "conv.fold.channels": "fold lee la dimensión -2 de {name} como C × ∏kernel, pero {rows} (de {shape}) no es "
    "múltiplo de ∏kernel {kernel} = {k}.",
    "conv.fold.channels.hint": "da a la dimensión -2 un múltiplo de {k}, como {low} o {high}",
    "conv.fold.blocks": "{name} tiene L = {got} bloques (dimensión -1 de {shape}), pero output_size {size} da "
    "{need} = {total} bloques deslizantes: {lines}.",
    "conv.fold.blocks.hint": "da a {name} {total} bloques en su última dimensión (como los hace F.unfold), o un "
    "output_size cuyos bloques multiplicados den {got}",
    "error_title.fold_channels": "Filas que no son múltiplo del kernel",
    "error_title.fold_blocks": "El número de bloques no coincide",
    "conv.rank.hint_other": "da a {name} la disposición que la operación lee, o usa la operación de su rango ({op})",
    "conv.weight_rank": "{op} necesita un peso de {n} dimensiones (out_channels, in_channels/groups, "
    "*kernel); el peso tiene {got} dimensiones, forma {shape}.",
    "conv.weight_rank.hint": "crea el peso con nn.Conv{n}d(in_channels, out_channels, kernel_size).weight",
    "conv.groups.out": "groups={groups} debe dividir a out_channels = {out}, el primer tamaño del peso.",
    "conv.groups.both": "groups={groups} debe dividir a in_channels = {cin} y a out_channels = {out}.",
    "conv.groups.hint": "elige groups entre los divisores comunes de {cin} y {out}: {choices}, por ejemplo {layer}",
    "conv.channels": "{name} tiene {cin} canales (dimensión {dim} de {shape}), pero el peso {wshape} espera "
    "in_channels = {per} × groups {groups} = {expected}.",
    "conv.channels.transposed": "{name} tiene {cin} canales (dimensión {dim} de {shape}), pero el peso transpuesto "
    "{wshape} espera in_channels = {expected} (su primer tamaño).",
    "conv.hint.permute": "{name} parece channels-last: {name}.permute({order}) pone sus {c} canales en la dimensión 1",
    "conv.hint.expand": "una imagen en escala de grises en una capa RGB: {name}.expand({sizes}) repite su único "
    "canal 3 veces",
    "conv.hint.unsqueeze1": "{name} parece un batch de imágenes de un canal: {name}.unsqueeze(1) da {shape}",
    "conv.hint.layer": "haz que la capa reciba los {cin} canales de la entrada: {layer}",
    "conv.hint.or": "; o bien ",
    "conv.bias": "El bias tiene forma {shape}; necesita un valor por canal de salida: ({out},).",
    "conv.bias.hint": "da un bias de forma ({out},), o bias=None",
    "conv.same_stride": "padding='same' conserva el tamaño solo con stride 1, y el stride es {stride}.",
    "conv.same_stride.hint": "usa stride=1, o padding={padding} con tu stride (la salida se reduce entonces "
    "según el stride)",
    "conv.pool_padding": "padding={padding} es más de la mitad de kernel_size={kernel}: una ventana podría "
    "contener solo padding.",
    "conv.pool_padding.hint": "usa como mucho padding={padding}",
    "conv.size.dim": "{dim}: la entrada con padding mide {h} + 2·{p} = {padded} pero el kernel abarca "
    "{d}·({k} − 1) + 1 = {span}, así que {formula}",
    "conv.size.error": "El kernel no cabe en la entrada con padding: {dims}.",
    "conv.size.hint": "un kernel más pequeño, kernel_size={kernel}; o más padding, padding={padding}",
    "conv.size.hint_kernel": "un kernel más pequeño, kernel_size={kernel}, o una entrada más grande",
    "conv.size.transposed": "El tamaño de salida sería 0 o menos: {dims}.",
    "conv.size.transposed.hint": "usa menos padding, o un stride o un kernel mayores",
    "conv.cli.ints": "{what} recibe un entero ≥ {minimum} o {n} separados por comas (3 o 3,5), no {text!r}.",
    "conv.cli.positive": "--out-channels y --groups reciben un entero ≥ 1.",
    "conv.cli.not_for": "{option} no es una opción de {op}.",
    "conv.cli.words": "También acepta {words}.",
    "error_title.conv_rank": "Número de dimensiones incorrecto",
    "error_title.conv_weight_rank": "Dimensiones del peso incorrectas",
    "error_title.conv_groups": "groups no divide a los canales",
    "error_title.conv_channels": "Los canales no coinciden",
    "error_title.conv_bias": "Forma del bias incorrecta",
    "error_title.conv_same_stride": "padding='same' con un stride",
    "error_title.pool_padding": "Padding mayor que la mitad del kernel",
    "error_title.conv_kernel_size": "Kernel mayor que la entrada",
    "error_title.pool_output_size": "Tamaño de salida 0",
    "error_title.conv_transpose_size": "Tamaño de salida de la transpuesta 0 o menos",
}
