/** The comparison's fixed words: the similarity's names and explanations, and the colour legend. */

/** What the similarity is called on screen, and its one-line explanation (a tooltip). */
export const SIMILARITY_TEXT = {
  centred: {
    label: "centred cosine",
    title: "cosine of the two W_eff after subtracting the mean W_eff of all probe samples at this checkpoint (as class_similarity); 0 = unrelated",
  },
  raw: {
    label: "raw cosine",
    title: "cosine of the two W_eff as they are (nothing subtracted); near 1 for almost any pair of a trained network",
  },
  rawFallback: {
    label: "raw cosine",
    title: "raw cosine: this page cannot give the probe mean W_eff needed for the centred cosine",
  },
};

/** The sentence that says what the colours and f mean. */
export const LEGEND_TEXT = "red = positive, blue = negative · f_c = score for class c = Σ W_eff·x (+ b_eff) · outlined = predicted class";
