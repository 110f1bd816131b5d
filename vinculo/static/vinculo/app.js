// Vínculo UI helpers (keyboard shortcuts live here).
