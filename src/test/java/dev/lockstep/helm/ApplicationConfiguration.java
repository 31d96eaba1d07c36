package dev.lockstep.helm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * The application's own configuration, loaded by Spring Boot's config data machinery from
 * {@code src/main/resources/application.yaml}, so that the chart is checked against the
 * values the application really uses. Where the file is silent, Spring Boot's defaults
 * apply.
 */
final class ApplicationConfiguration {

	static final Path LOCATION = Path.of("src", "main", "resources", "application.yaml");

	private final Binder binder;

	private ApplicationConfiguration(Binder binder) {
		this.binder = binder;
	}

	static ApplicationConfiguration load() {
		if (!Files.isRegularFile(LOCATION)) {
			throw new IllegalStateException(LOCATION.toAbsolutePath() + " is missing");
		}
		StandardEnvironment environment = new StandardEnvironment();
		environment.getPropertySources()
			.addFirst(new MapPropertySource("chart-test",
					Map.of("spring.config.location", "file:" + LOCATION.toAbsolutePath())));
		ConfigDataEnvironmentPostProcessor.applyTo(environment);
		return new ApplicationConfiguration(Binder.get(environment));
	}

	int serverPort() {
		return this.binder.bind("server.port", Integer.class).orElse(8080);
	}

	/**
	 * The port actuator answers on: {@code management.server.port} if set, else the
	 * server port.
	 */
	int actuatorPort() {
		return this.binder.bind("management.server.port", Integer.class).orElseGet(this::serverPort);
	}

	String actuatorBasePath() {
		return this.binder.bind("management.endpoints.web.base-path", String.class).orElse("/actuator");
	}

	boolean healthProbesEnabled() {
		return this.binder.bind("management.endpoint.health.probes.enabled", Boolean.class).orElse(false);
	}

	List<String> exposedEndpoints() {
		String include = this.binder.bind("management.endpoints.web.exposure.include", String.class).orElse("health");
		return Arrays.stream(include.split(",")).map(String::trim).toList();
	}

	Duration shutdownPhaseTimeout() {
		return this.binder.bind("spring.lifecycle.timeout-per-shutdown-phase", Duration.class)
			.orElse(Duration.ofSeconds(30));
	}

	String livenessPath() {
		return this.actuatorBasePath() + "/health/liveness";
	}

	String readinessPath() {
		return this.actuatorBasePath() + "/health/readiness";
	}

	String prometheusPath() {
		return this.actuatorBasePath() + "/prometheus";
	}

}
