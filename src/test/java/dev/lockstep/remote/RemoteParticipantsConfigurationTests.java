package dev.lockstep.remote;

import java.net.URI;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.ssl.SslAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.ParticipantKind;
import dev.lockstep.replication.ParticipantRegistry;
import dev.lockstep.replication.RegisteredParticipant;
import dev.lockstep.replication.TestParticipant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * Tests for {@link RemoteParticipantsConfiguration} and
 * {@link RemoteParticipantProperties}.
 */
class RemoteParticipantsConfigurationTests {

	private final ApplicationContextRunner runner = runner(registryWithABeanParticipant());

	private static ApplicationContextRunner runner(ParticipantRegistry registry) {
		return new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(JacksonAutoConfiguration.class, SslAutoConfiguration.class))
			.withUserConfiguration(CoordinatorPropertiesConfiguration.class, RemoteParticipantsConfiguration.class)
			.withBean(ParticipantRegistry.class, () -> registry);
	}

	private static ParticipantRegistry registryWithABeanParticipant() {
		ParticipantRegistry registry = new ParticipantRegistry();
		registry.register(new TestParticipant("disk"), 0, ParticipantKind.BEAN);
		return registry;
	}

	@Test
	void registersEveryRemoteParticipantWithItsOrderAndDeadline() {
		this.runner
			.withPropertyValues("lockstep.coordinator.call-timeout=7s", "lockstep.participants.remote[0].name=database",
					"lockstep.participants.remote[0].url=http://127.0.0.1:9100/replication",
					"lockstep.participants.remote[0].order=10", "lockstep.participants.remote[0].timeout=5s",
					"lockstep.participants.remote[1].name=cache",
					"lockstep.participants.remote[1].url=https://cache.example:8443/")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				ParticipantRegistry registry = context.getBean(ParticipantRegistry.class);
				assertThat(registry.participants())
					.extracting(RegisteredParticipant::name, RegisteredParticipant::order, RegisteredParticipant::kind)
					.containsExactly(tuple("disk", 0, ParticipantKind.BEAN), tuple("cache", 0, ParticipantKind.REMOTE),
							tuple("database", 10, ParticipantKind.REMOTE));
				RemoteParticipant database = (RemoteParticipant) registry.find("database").get().participant();
				assertThat(database.url()).isEqualTo(URI.create("http://127.0.0.1:9100/replication"));
				assertThat(database.timeout()).contains(Duration.ofSeconds(5));
				assertThat(registry.find("cache").get().participant().timeout()).isEmpty();
				RemoteParticipantProperties properties = context.getBean(RemoteParticipantProperties.class);
				assertThat(properties.errorPollInterval()).isEqualTo(Duration.ofSeconds(1));
				assertThat(properties.errorPollTimeout()).isEqualTo(Duration.ofSeconds(2));
				assertThat(properties.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
			});
	}

	@Test
	void anUndefinedSslBundleStopsStartUpNamingTheSetting() {
		this.runner
			.withPropertyValues("lockstep.participants.remote[0].name=database",
					"lockstep.participants.remote[0].url=https://127.0.0.1:9443/replication",
					"lockstep.participants.remote[0].ssl-bundle=missing")
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.hasStackTraceContaining("lockstep.participants.remote[0].ssl-bundle names the SSL bundle 'missing'")
				.hasStackTraceContaining("spring.ssl.bundle.pem.missing"));
		this.runner
			.withPropertyValues("lockstep.participants.ssl-bundle=shared",
					"lockstep.participants.remote[0].name=database",
					"lockstep.participants.remote[0].url=https://127.0.0.1:9443/replication")
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.hasStackTraceContaining("lockstep.participants.ssl-bundle names the SSL bundle 'shared'"));
	}

	@Test
	void anSslBundleOnAnHttpParticipantStopsStartUp() {
		this.runner
			.withPropertyValues("lockstep.participants.remote[0].name=database",
					"lockstep.participants.remote[0].url=http://127.0.0.1:9100/replication",
					"lockstep.participants.remote[0].ssl-bundle=peers")
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.rootCause()
				.hasMessageContaining("lockstep.participants.remote[0].ssl-bundle is set to 'peers'")
				.hasMessageContaining("https://127.0.0.1:9100/replication"));
	}

	@Test
	void unregistersOnShutdown() {
		ParticipantRegistry registry = new ParticipantRegistry();
		runner(registry)
			.withPropertyValues("lockstep.participants.remote[0].name=database",
					"lockstep.participants.remote[0].url=http://127.0.0.1:9100/replication")
			.run((context) -> assertThat(registry.find("database")).isPresent());
		assertThat(registry.participants()).isEmpty();
	}

	@Test
	void noRemoteParticipantsByDefault() {
		this.runner.run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBean(ParticipantRegistry.class).participants())
				.extracting(RegisteredParticipant::name)
				.containsExactly("disk");
		});
	}

	@Test
	void missingNameStopsStartUp() {
		this.runner.withPropertyValues("lockstep.participants.remote[0].url=http://127.0.0.1:9100/replication")
			.run((context) -> assertFailure(context,
					"lockstep.participants.remote[0].name must be set to a non-blank, unique name"));
	}

	@Test
	void blankNameStopsStartUp() {
		this.runner.withPropertyValues("lockstep.participants.remote[0].name=a",
				"lockstep.participants.remote[0].url=http://127.0.0.1:9100/a", "lockstep.participants.remote[1].name= ",
				"lockstep.participants.remote[1].url=http://127.0.0.1:9100/b")
			.run((context) -> assertFailure(context,
					"lockstep.participants.remote[1].name must be set to a non-blank, unique name"));
	}

	@Test
	void missingUrlStopsStartUp() {
		this.runner.withPropertyValues("lockstep.participants.remote[0].name=database")
			.run((context) -> assertFailure(context, "lockstep.participants.remote[0].url must be set: the base URL "
					+ "of participant 'database', such as http://127.0.0.1:9100/replication"));
	}

	@Test
	void nonHttpSchemeStopsStartUp() {
		this.runner
			.withPropertyValues("lockstep.participants.remote[0].name=a",
					"lockstep.participants.remote[0].url=http://127.0.0.1:9100/a",
					"lockstep.participants.remote[1].name=b", "lockstep.participants.remote[1].url=ftp://127.0.0.1/b")
			.run((context) -> assertFailure(context,
					"lockstep.participants.remote[1].url must be an http:// or https:// URL,"
							+ " but was 'ftp://127.0.0.1/b'"));
	}

	@Test
	void relativeUrlStopsStartUp() {
		this.runner
			.withPropertyValues("lockstep.participants.remote[0].name=a",
					"lockstep.participants.remote[0].url=/replication")
			.run((context) -> assertFailure(context,
					"lockstep.participants.remote[0].url must be an http:// or https:// URL, but was '/replication'"));
	}

	@Test
	void urlWithoutHostStopsStartUp() {
		this.runner
			.withPropertyValues("lockstep.participants.remote[0].name=a",
					"lockstep.participants.remote[0].url=http:///replication")
			.run((context) -> assertFailure(context, "lockstep.participants.remote[0].url must name a host"));
	}

	@Test
	void urlWithQueryStopsStartUp() {
		this.runner
			.withPropertyValues("lockstep.participants.remote[0].name=a",
					"lockstep.participants.remote[0].url=http://127.0.0.1:9100/replication?x=1")
			.run((context) -> assertFailure(context,
					"lockstep.participants.remote[0].url must not have a query or a fragment"));
	}

	@Test
	void nonPositiveTimeoutStopsStartUp() {
		this.runner
			.withPropertyValues("lockstep.participants.remote[0].name=a",
					"lockstep.participants.remote[0].url=http://127.0.0.1:9100/a",
					"lockstep.participants.remote[0].timeout=0s")
			.run((context) -> assertFailure(context,
					"lockstep.participants.remote[0].timeout must be a positive duration, but was PT0S"));
	}

	@Test
	void nonPositivePollIntervalStopsStartUp() {
		this.runner.withPropertyValues("lockstep.participants.error-poll-interval=-1s")
			.run((context) -> assertFailure(context,
					"lockstep.participants.error-poll-interval must be a positive duration, but was PT-1S"));
	}

	@Test
	void duplicateRemoteNameStopsStartUp() {
		this.runner
			.withPropertyValues("lockstep.participants.remote[0].name=database",
					"lockstep.participants.remote[0].url=http://127.0.0.1:9100/a",
					"lockstep.participants.remote[1].name=database",
					"lockstep.participants.remote[1].url=http://127.0.0.1:9100/b")
			.run((context) -> assertFailure(context, "lockstep.participants.remote[1].name 'database' is already "
					+ "used by lockstep.participants.remote[0]; participant names must be unique"));
	}

	@Test
	void nameOfABeanParticipantStopsStartUp() {
		ParticipantRegistry registry = registryWithABeanParticipant();
		runner(registry)
			.withPropertyValues("lockstep.participants.remote[0].name=database",
					"lockstep.participants.remote[0].url=http://127.0.0.1:9100/a",
					"lockstep.participants.remote[1].name=disk",
					"lockstep.participants.remote[1].url=http://127.0.0.1:9100/b")
			.run((context) -> {
				assertFailure(context,
						"lockstep.participants.remote[1] ('disk') cannot be registered: "
								+ "A participant named 'disk' is already registered (disk(bean, order 0)); "
								+ "participant names must be unique");
				assertThat(registry.participants()).extracting(RegisteredParticipant::name).containsExactly("disk");
			});
	}

	private static void assertFailure(AssertableApplicationContext context, String message) {
		assertThat(context).hasFailed();
		Throwable failure = context.getStartupFailure();
		StringBuilder messages = new StringBuilder();
		for (Throwable candidate = failure; candidate != null; candidate = candidate.getCause()) {
			messages.append(candidate.getMessage()).append('\n');
		}
		assertThat(messages).contains(message);
	}

	@Configuration(proxyBeanMethods = false)
	@EnableConfigurationProperties(CoordinatorProperties.class)
	static class CoordinatorPropertiesConfiguration {

	}

}
