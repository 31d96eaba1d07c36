package dev.lockstep.helm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The Kubernetes objects of one {@code helm template} run, parsed from its YAML output.
 */
final class RenderedChart {

	private final String manifests;

	private final List<Map<String, Object>> objects;

	private RenderedChart(String manifests, List<Map<String, Object>> objects) {
		this.manifests = manifests;
		this.objects = objects;
	}

	@SuppressWarnings("unchecked")
	static RenderedChart parse(String manifests) {
		List<Map<String, Object>> objects = new ArrayList<>();
		for (Object document : yaml().loadAll(manifests)) {
			if (document != null) {
				objects.add((Map<String, Object>) document);
			}
		}
		return new RenderedChart(manifests, objects);
	}

	static Yaml yaml() {
		return new Yaml(new SafeConstructor(new LoaderOptions()));
	}

	String manifests() {
		return this.manifests;
	}

	List<Map<String, Object>> objects() {
		return this.objects;
	}

	List<Map<String, Object>> ofKind(String kind) {
		return this.objects.stream().filter((object) -> kind.equals(object.get("kind"))).toList();
	}

	Map<String, Object> get(String kind, String name) {
		return ofKind(kind).stream()
			.filter((object) -> name.equals(at(object, "metadata", "name")))
			.findFirst()
			.orElseThrow(() -> new AssertionError("No " + kind + " named " + name + " in:\n" + this.manifests));
	}

	Map<String, Object> statefulSet() {
		List<Map<String, Object>> statefulSets = ofKind("StatefulSet");
		if (statefulSets.size() != 1) {
			throw new AssertionError("Expected one StatefulSet, got " + statefulSets.size());
		}
		return statefulSets.get(0);
	}

	Map<String, Object> podSpec() {
		return at(statefulSet(), "spec", "template", "spec");
	}

	Map<String, Object> container() {
		List<Map<String, Object>> containers = at(podSpec(), "containers");
		return containers.stream()
			.filter((container) -> "lockstep".equals(container.get("name")))
			.findFirst()
			.orElseThrow(() -> new AssertionError("No lockstep container"));
	}

	Map<String, Object> env(String name) {
		List<Map<String, Object>> env = at(container(), "env");
		return env.stream()
			.filter((variable) -> name.equals(variable.get("name")))
			.findFirst()
			.orElseThrow(() -> new AssertionError("No environment variable " + name));
	}

	/**
	 * Index of an environment variable in the container's list; Kubernetes expands
	 * {@code $(NAME)} only from variables listed earlier.
	 */
	int envIndex(String name) {
		List<Map<String, Object>> env = at(container(), "env");
		for (int i = 0; i < env.size(); i++) {
			if (name.equals(env.get(i).get("name"))) {
				return i;
			}
		}
		throw new AssertionError("No environment variable " + name);
	}

	/**
	 * Resolves a named container port to its number.
	 */
	int containerPort(Object port) {
		if (port instanceof Integer number) {
			return number;
		}
		List<Map<String, Object>> ports = at(container(), "ports");
		return ports.stream()
			.filter((candidate) -> Objects.equals(port, candidate.get("name")))
			.map((candidate) -> (Integer) candidate.get("containerPort"))
			.findFirst()
			.orElseThrow(() -> new AssertionError("No container port named " + port));
	}

	/**
	 * Walks maps by key and lists by index, for assertions; null where a step is missing.
	 */
	static Object value(Object node, Object... path) {
		return at(node, path);
	}

	/**
	 * Walks maps by key and lists by index, for typed assignments.
	 */
	@SuppressWarnings("unchecked")
	static <T> T at(Object node, Object... path) {
		Object current = node;
		for (Object step : path) {
			if (current == null) {
				return null;
			}
			if (current instanceof Map<?, ?> map) {
				current = map.get(step);
			}
			else if (current instanceof List<?> list && step instanceof Integer index) {
				current = (index < list.size()) ? list.get(index) : null;
			}
			else {
				throw new AssertionError("Cannot take " + step + " of " + current);
			}
		}
		return (T) current;
	}

}
