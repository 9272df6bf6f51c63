/**
 * The widget contract, shared with Python: the same contract.json that the widget classes are
 * checked against (trait names, types, shapes, directions), the explorer's links, the custom
 * messages, and the playback speeds. Front-end code reads these from here, never from its own
 * copy.
 */
import CONTRACT from "../../linlens_widgets/widgets/contract.json";

export { CONTRACT };

/** Playback speed factors the scrubber offers (1 = `FPS_AT_SPEED_1` checkpoints a second). */
export const SPEEDS = Object.freeze([...CONTRACT.speeds]);
export const FPS_AT_SPEED_1 = CONTRACT.frames_per_second_at_speed_1;

const MESSAGES = Object.fromEntries(Object.entries(CONTRACT.messages).filter(([k]) => k !== "about"));

/**
 * Build a custom message of `kind` holding only the fields the contract names for it
 * (`arrays` is added by the codec). Throws for an unknown kind or field, naming it.
 */
export function message(kind, fields = {}) {
  const spec = MESSAGES[kind];
  if (!spec) throw new Error(`unknown message type ${JSON.stringify(kind)}; the contract has ${Object.keys(MESSAGES).join(", ")}`);
  const extra = Object.keys(fields).filter((k) => !(k in spec.fields));
  if (extra.length) throw new Error(`message ${kind} has no field(s) ${extra.join(", ")}`);
  return { type: kind, ...fields };
}

/** Synced trait names of a widget class (e.g. "EmbeddingView"). */
export function traitNames(widget) {
  const spec = CONTRACT.widgets[widget];
  if (!spec) throw new Error(`the contract has no widget ${widget}`);
  return Object.keys(spec.traits);
}

/** Colour of the checkpoint cursor in charts (no metric has it). */
export const CURSOR_COLOR = CONTRACT.cursor_color;

/**
 * The colour of each metric name, the same in every chart (Python's `palettes.metric_colors`
 * reads the same map): a name of the contract's map (spaces read as underscores), else the
 * contract's `other` colours in order.
 */
export function metricColors(names) {
  const map = CONTRACT.palettes.metrics;
  let k = 0;
  return names.map((name) => {
    const c = map[String(name).replace(/ /g, "_")];
    return typeof c === "string" ? c : map.other[k++ % map.other.length];
  });
}
