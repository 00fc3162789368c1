-- Placements: where the embeddable checkout widget is shown. The settings (product,
-- channel, campaign, allowed host origins, theme) are one JSON document because the
-- widget reads them whole and nothing queries inside them; `enabled` is a column so
-- a disabled placement is refused without decoding anything.
CREATE TABLE placements (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    product_id TEXT NOT NULL REFERENCES products(id),
    enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    doc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX placements_by_merchant ON placements (merchant_id, id);

-- A merchant's default widget theme; each placement's theme overrides it field by field.
CREATE TABLE widget_themes (
    merchant_id TEXT PRIMARY KEY REFERENCES merchants(id),
    doc TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
