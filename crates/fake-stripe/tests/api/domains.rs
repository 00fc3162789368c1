//! Payment method domains (Apple Pay / Google Pay registration).

use crate::helpers::Api;

#[tokio::test]
async fn domains_are_registered_active_and_listed() {
    let api = Api::start().await;
    let r = api
        .post("/v1/payment_method_domains")
        .param("domain_name", "shop.example.com")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["id"].as_str().unwrap().starts_with("pmd_"));
    assert_eq!(r.body["object"], "payment_method_domain");
    assert_eq!(r.body["apple_pay"]["status"], "active");
    assert_eq!(r.body["google_pay"]["status"], "active");
    assert_eq!(r.body["enabled"], true);
    let list = api.get("/v1/payment_method_domains").send().await;
    assert_eq!(list.body["object"], "list");
    assert_eq!(list.body["data"][0]["domain_name"], "shop.example.com");
    let one = api
        .get(&format!(
            "/v1/payment_method_domains/{}",
            r.body["id"].as_str().unwrap()
        ))
        .send()
        .await;
    assert_eq!(one.body["domain_name"], "shop.example.com");
    let r = api
        .post("/v1/payment_method_domains")
        .param("domain_name", "https://shop.example.com/")
        .send()
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post("/v1/payment_method_domains")
        .param("domain_name", "shop.example.com")
        .send()
        .await;
    assert_eq!(r.status, 400);
}
