package dev.lockstep.remote;

import java.time.Clock;

import org.jspecify.annotations.Nullable;

import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.ParticipantRegistry;

/**
 * Wires the HTTP clients (one per SSL bundle), the error poller and the registration of
 * the remote participants configured under {@code lockstep.participants.remote}.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(RemoteParticipantProperties.class)
class RemoteParticipantsConfiguration {

	@Bean
	RemoteParticipantClients remoteParticipantClients(JsonMapper jsonMapper, RemoteParticipantProperties properties,
			ObjectProvider<SslBundles> sslBundles) {
		@Nullable SslBundles bundles = sslBundles.getIfAvailable();
		return new RemoteParticipantClients(jsonMapper, properties, bundles);
	}

	@Bean(destroyMethod = "close")
	RemoteErrorPoller remoteErrorPoller(RemoteParticipantProperties properties) {
		return new RemoteErrorPoller(properties.errorPollInterval());
	}

	@Bean
	RemoteParticipantRegistrar remoteParticipantRegistrar(ParticipantRegistry registry,
			RemoteParticipantProperties properties, CoordinatorProperties coordinatorProperties,
			RemoteParticipantClients clients, RemoteErrorPoller poller) {
		return new RemoteParticipantRegistrar(registry, properties, coordinatorProperties, clients, poller,
				Clock.systemUTC());
	}

}
