/**
 * What the embedding draws, read once from the model: every checkpoint's positions, the labels,
 * and the optional predictions, thumbnails, colour values and sub-cluster groups.
 */
import { decodeArray } from "../codecs.js";
import { frameShape } from "../frames.js";

/**
 * Decode the model's arrays and check that they agree on the number of points N. Throws an
 * error that names the array when one does not. `thumbnails` (only the tooltip reads them) is
 * decoded when first read and again when the model's `_thumbnails` changes: a saved page fills
 * them in after its first frame (page.js).
 */
export function readData(model) {
  const positions = decodeArray(model.get("_positions"), "positions");
  if (!positions) throw new Error("no positions were sent (the trajectory is empty)");
  const { E, N } = frameShape(positions);
  const labels = decodeArray(model.get("_labels"), "labels");
  if (!labels || labels.data.length !== N) {
    throw new Error(`labels hold ${labels?.data.length ?? 0} values for ${N} points`);
  }
  const predictions = decodeArray(model.get("_predictions"), "predictions");
  const values = decodeArray(model.get("_values"), "values");
  const groups = decodeArray(model.get("_groups"), "groups");
  if (groups && groups.data.length !== N) throw new Error(`sub-cluster groups hold ${groups.data.length} values for ${N} points`);
  const classes = model.get("_classes") ?? [];
  const nClasses = Math.max(classes.length, ...Array.from(labels.data.slice(0, 5000), (v) => v + 1));
  let raw;
  let thumbnails = null;
  return {
    positions,
    labels,
    predictions,
    get thumbnails() {
      const now = model.get("_thumbnails");
      if (now !== raw) {
        thumbnails = decodeArray(now, "thumbnails");
        raw = now;
      }
      return thumbnails;
    },
    values,
    groups,
    classes,
    nClasses,
    E,
    N,
  };
}
