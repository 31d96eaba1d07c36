package dev.lockstep.remote;

import java.time.Clock;

import tools.jackson.databind.json.JsonMapper;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.ParticipantRegistry;

/**
 * Wires the shared HTTP client, the error poller and the registration of the remote
 * participants configured under {@code lockstep.participants.remote}.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(RemoteParticipantProperties.class)
class RemoteParticipantsConfiguration {

	@Bean
	RemoteParticipantClient remoteParticipantClient(JsonMapper jsonMapper, RemoteParticipantProperties properties) {
		return new RemoteParticipantClient(jsonMapper, properties.connectTimeout());
	}

	@Bean(destroyMethod = "close")
	RemoteErrorPoller remoteErrorPoller(RemoteParticipantProperties properties) {
		return new RemoteErrorPoller(properties.errorPollInterval());
	}

	@Bean
	RemoteParticipantRegistrar remoteParticipantRegistrar(ParticipantRegistry registry,
			RemoteParticipantProperties properties, CoordinatorProperties coordinatorProperties,
			RemoteParticipantClient client, RemoteErrorPoller poller) {
		return new RemoteParticipantRegistrar(registry, properties, coordinatorProperties, client, poller,
				Clock.systemUTC());
	}

}
