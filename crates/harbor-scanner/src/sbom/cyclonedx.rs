//! CycloneDX 1.5 JSON.

use serde_json::{Value, json};

use super::{Document, purl};
use crate::inventory::ImageInventory;

/// The inventory as a CycloneDX 1.5 JSON BOM: the image is the metadata component, the
/// operating system and every installed package are components.
pub fn cyclonedx(doc: &Document<'_>, inventory: &ImageInventory) -> Value {
    let mut components = Vec::new();
    if let Some(os) = &inventory.os {
        components.push(json!({
            "bom-ref": "os",
            "type": "operating-system",
            "name": os.id,
            "version": os.version_id,
            "description": os.pretty_name,
        }));
    }
    let mut refs = std::collections::HashSet::new();
    for package in &inventory.packages {
        let purl = purl(package, inventory.os.as_ref());
        // bom-refs are unique: the same package found at two paths gets a suffix.
        let mut bom_ref = purl.clone();
        let mut n = 1;
        while !refs.insert(bom_ref.clone()) {
            n += 1;
            bom_ref = format!("{purl}#{n}");
        }
        let mut properties = vec![
            json!({"name": "harbor-rs:package:type", "value": package.kind.as_str()}),
            json!({"name": "harbor-rs:package:path", "value": package.path}),
        ];
        if let Some(source) = &package.source {
            properties.push(json!({"name": "harbor-rs:package:source", "value": source}));
        }
        components.push(json!({
            "bom-ref": bom_ref,
            "type": "library",
            "name": package.name,
            "version": package.version,
            "purl": purl,
            "properties": properties,
        }));
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "version": 1,
        "metadata": {
            "timestamp": doc.created,
            "tools": {"components": [{"type": "application", "name": doc.tool, "version": doc.tool_version}]},
            "component": {
                "bom-ref": doc.digest,
                "type": "container",
                "name": doc.repository,
                "version": doc.digest,
            },
        },
        "components": components,
    })
}
