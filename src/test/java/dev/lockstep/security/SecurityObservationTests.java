package dev.lockstep.security;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.lockstep.TestClients;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationPredicate;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.test.context.TestPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Spring Security does not observe every filter of every request unless asked to. Its
 * settings say so, which keeps it from wrapping each filter in the first place; a
 * disabled observation alone would still be wrapped.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false" })
@Import(SecurityObservationTests.Recording.class)
class SecurityObservationTests {

	@LocalServerPort
	private int port;

	@Autowired
	private ObservationNames names;

	@Autowired
	private ObjectProvider<SecurityObservationSettings> settings;

	@Test
	void requestsAreObservedButNotTheirSecurityFilters() {
		SecurityObservationSettings settings = this.settings.getIfAvailable();
		assertThat(settings).isNotNull();
		assertThat(settings.shouldObserveRequests()).isFalse();
		assertThat(settings.shouldObserveAuthentications()).isFalse();
		assertThat(settings.shouldObserveAuthorizations()).isFalse();
		callTheApi();
		assertThat(this.names.seen()).contains("http.server.requests")
			.noneMatch((name) -> name.startsWith("spring.security"));
	}

	@Nested
	@TestPropertySource(properties = "management.observations.enable.spring.security=true")
	class WhenTurnedOn {

		@Test
		void securityFiltersAreObserved() {
			assertThat(SecurityObservationTests.this.settings.getIfAvailable()).isNull();
			callTheApi();
			assertThat(SecurityObservationTests.this.names.seen()).contains("spring.security.filterchains");
		}

	}

	private void callTheApi() {
		TestClients.authenticated(this.port).get().uri("/api/v1/replication").exchange().expectStatus().isOk();
		TestClients.authenticated(this.port)
			.post()
			.uri("/api/v1/replication/checkpoint")
			.exchange()
			.expectStatus()
			.is4xxClientError();
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class Recording {

		@Bean
		ObservationNames observationNames() {
			return new ObservationNames();
		}

	}

	/** Records the name of every observation the registry is asked to create. */
	static final class ObservationNames implements ObservationPredicate {

		private final Set<String> names = ConcurrentHashMap.newKeySet();

		@Override
		public boolean test(String name, Observation.Context context) {
			this.names.add(name);
			return true;
		}

		Set<String> seen() {
			return Set.copyOf(this.names);
		}

	}

}
