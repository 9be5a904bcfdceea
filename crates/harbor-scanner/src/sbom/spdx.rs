//! SPDX 2.3 JSON.

use serde_json::{Value, json};

use super::{Document, purl};
use crate::inventory::ImageInventory;

/// The inventory as an SPDX 2.3 JSON document: the image as the described package, which
/// contains the operating system and every installed package (with its purl and the file
/// it was found in).
pub fn spdx(doc: &Document<'_>, inventory: &ImageInventory) -> Value {
    let image_id = "SPDXRef-Image";
    let mut packages = vec![json!({
        "SPDXID": image_id,
        "name": doc.repository,
        "versionInfo": doc.digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "checksums": checksum(doc.digest),
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": image_id,
    })];
    if let Some(os) = &inventory.os {
        packages.push(json!({
            "SPDXID": "SPDXRef-OperatingSystem",
            "name": os.id,
            "versionInfo": os.version_id,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "OPERATING-SYSTEM",
        }));
        relationships.push(contains(image_id, "SPDXRef-OperatingSystem"));
    }
    for (n, package) in inventory.packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}", n + 1);
        let mut entry = json!({
            "SPDXID": id,
            "name": package.name,
            "versionInfo": package.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "LIBRARY",
            "sourceInfo": format!("{} package found in {}", package.kind.as_str(), package.path),
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl(package, inventory.os.as_ref()),
            }],
        });
        if let (Some(source), Some(map)) = (&package.source, entry.as_object_mut()) {
            map.insert("comment".into(), json!(format!("source package: {source}")));
        }
        packages.push(entry);
        relationships.push(contains(image_id, &id));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{}@{}", doc.repository, doc.digest),
        "documentNamespace": format!("https://harbor-rs.dev/spdx/{}/{}-{}", doc.repository, doc.digest, uuid::Uuid::new_v4()),
        "creationInfo": {
            "created": doc.created,
            "creators": [format!("Tool: {}-{}", doc.tool, doc.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

fn contains(from: &str, to: &str) -> Value {
    json!({"spdxElementId": from, "relationshipType": "CONTAINS", "relatedSpdxElement": to})
}

fn checksum(digest: &str) -> Value {
    match digest.split_once(':') {
        Some(("sha256", hex)) => json!([{"algorithm": "SHA256", "checksumValue": hex}]),
        Some(("sha512", hex)) => json!([{"algorithm": "SHA512", "checksumValue": hex}]),
        _ => json!([]),
    }
}
