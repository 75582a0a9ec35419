"""infra/k8s validated offline against the Kubernetes schemas, and checked against the Procfile, the settings the
code declares and the topic catalogue (worker replicas never above the partitions their groups read)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml
from nmd_contracts.topics import load_catalogue

from tests.platform.conftest import REPO, SERVICES, load_yaml_documents, web_port, worker_health_port

K8S = REPO / "infra" / "k8s"
KUBERNETES_VERSION = kubernetes_validate.latest_version()


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text("utf-8"))


@pytest.fixture(scope="module")
def documents(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    return [doc for name in kustomization["resources"] for doc in load_yaml_documents(K8S / name)]


def _by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_every_manifest_file_is_applied_or_an_example(kustomization: dict[str, Any]) -> None:
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - {"secret.example.yaml"}


@pytest.mark.parametrize("path", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_manifests_match_the_kubernetes_schemas(path: str) -> None:
    for document in load_yaml_documents(K8S / path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_every_procfile_process_has_a_deployment(
    procfile: dict[str, str], documents: list[dict[str, Any]]
) -> None:
    deployments = _by_kind(documents, "Deployment")
    commands = {name: _container(d)["command"] for name, d in deployments.items()}
    expected = {}
    for service in SERVICES:
        expected[f"{service}-web"] = ["python", "-m", "infra.process", service]
        expected[f"{service}-worker"] = ["python", "-m", "infra.process", f"{service}-worker"]
    assert commands == expected
    assert {command[-1] for command in commands.values()} == set(procfile) - {"gateway"}  # the Ingress replaces it


def test_probes_are_on_the_ports_the_settings_declare(
    documents: list[dict[str, Any]], declared: dict[str, Any]
) -> None:
    deployments = _by_kind(documents, "Deployment")
    for service in SERVICES:
        for kind, port in (
            ("web", web_port(declared, service)),
            ("worker", worker_health_port(declared, service)),
        ):
            container = _container(deployments[f"{service}-{kind}"])
            (declared_port,) = container["ports"]
            assert declared_port["containerPort"] == port
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": declared_port["name"]}
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": declared_port["name"]}


def test_settings_are_declared_and_secrets_referenced_by_name(
    documents: list[dict[str, Any]], declared: dict[str, Any]
) -> None:
    config = _by_kind(documents, "ConfigMap")["nmd-config"]["data"]
    (secret,) = load_yaml_documents(K8S / "secret.example.yaml")
    assert set(config) <= set(declared)
    assert set(secret["stringData"]) <= set(declared)
    containers = [_container(d) for d in _by_kind(documents, "Deployment").values()]
    for job in _by_kind(documents, "Job").values():
        containers += job["spec"]["template"]["spec"]["containers"]
    for container in containers:
        assert {source.get("configMapRef", {}).get("name") for source in container["envFrom"]} >= {"nmd-config"}
        for variable in container.get("env", []):
            assert variable["name"] in declared
            reference = variable.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                assert reference["name"] == "nmd-secrets" and reference["key"] in secret["stringData"]
    # A service that signs links or sessions gets the shared key, and every web process its own database.
    for service in SERVICES:
        names = {v["name"] for v in _container(_by_kind(documents, "Deployment")[f"{service}-web"])["env"]}
        assert {"SECRET_KEY", f"{service.upper()}_DATABASE_URL"} <= names


def test_web_processes_autoscale_and_have_services(
    documents: list[dict[str, Any]], declared: dict[str, Any]
) -> None:
    deployments, services = _by_kind(documents, "Deployment"), _by_kind(documents, "Service")
    autoscalers = _by_kind(documents, "HorizontalPodAutoscaler")
    for service in SERVICES:
        name = f"{service}-web"
        target = autoscalers[name]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert autoscalers[name]["spec"]["minReplicas"] >= 2
        assert _container(deployments[name])["resources"]["requests"]["cpu"]  # what CPU utilisation is measured by
        selector = services[name]["spec"]["selector"]
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
        assert services[name]["spec"]["ports"] == [
            {"name": "http", "port": web_port(declared, service), "targetPort": "http"}
        ]
    assert not {name for name in autoscalers if name.endswith("-worker")}  # workers scale with partitions


def test_worker_replicas_stay_within_the_partitions_they_read(documents: list[dict[str, Any]]) -> None:
    deployments = _by_kind(documents, "Deployment")
    for service in SERVICES:
        replicas = deployments[f"{service}-worker"]["spec"]["replicas"]
        partitions = [topic.partitions for topic in load_catalogue().values() if service in topic.consumers]
        assert 1 <= replicas <= min(partitions, default=1), service


def test_a_job_applies_the_topic_catalogue(documents: list[dict[str, Any]]) -> None:
    commands = [
        c["command"]
        for job in _by_kind(documents, "Job").values()
        for c in job["spec"]["template"]["spec"]["containers"]
    ]
    assert ["nmd-topics", "provision"] in commands
    assert ["python", "-m", "infra.migrate"] in commands


def test_ingress_backends_exist(documents: list[dict[str, Any]]) -> None:
    services = _by_kind(documents, "Service")
    for ingress in _by_kind(documents, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] in {p["name"] for p in services[backend["name"]]["spec"]["ports"]}


def test_images_are_named_for_kustomize(kustomization: dict[str, Any], documents: list[dict[str, Any]]) -> None:
    images = {
        c["image"]
        for d in documents
        if d["kind"] in ("Deployment", "Job")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {image["name"] for image in kustomization["images"]}
