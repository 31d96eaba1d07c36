package dev.lockstep.replication;

import java.time.Clock;
import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;

/**
 * Wires the registry, the error sweep and the coordinator, and registers every
 * {@link ReplicationParticipant} bean in {@code @Order} / {@link Ordered} order.
 */
@Configuration(proxyBeanMethods = false)
class ReplicationConfiguration {

	@Bean(destroyMethod = "close")
	ParticipantExecutor participantExecutor() {
		return new ParticipantExecutor();
	}

	@Bean
	ParticipantRegistry participantRegistry(ConfigurableListableBeanFactory beanFactory,
			ObjectProvider<ReplicationParticipant> participants) {
		ParticipantRegistry registry = new ParticipantRegistry();
		List<String> names = List.of(beanFactory.getBeanNamesForType(ReplicationParticipant.class));
		participants.orderedStream().forEach((participant) -> {
			int order = orderOf(beanFactory, names, participant);
			registry.register(participant, order, ParticipantKind.BEAN);
		});
		return registry;
	}

	private static int orderOf(ConfigurableListableBeanFactory beanFactory, List<String> names,
			ReplicationParticipant participant) {
		if (participant instanceof Ordered ordered) {
			return ordered.getOrder();
		}
		for (String name : names) {
			if (beanFactory.getBean(name) == participant) {
				Order order = beanFactory.findAnnotationOnBean(name, Order.class);
				return (order != null) ? order.value() : Ordered.LOWEST_PRECEDENCE;
			}
		}
		return Ordered.LOWEST_PRECEDENCE;
	}

	@Bean
	ErrorSweep errorSweep(ParticipantRegistry registry, ParticipantExecutor executor,
			CoordinatorProperties properties) {
		return new ErrorSweep(registry, executor, properties.errorTimeout(), properties.errorCacheTtl(),
				Clock.systemUTC());
	}

	@Bean
	ReplicationCoordinator replicationCoordinator(ParticipantRegistry registry, ErrorSweep errorSweep,
			CoordinatorProperties properties, ParticipantExecutor executor, MeterRegistry meterRegistry,
			ObjectProvider<FailoverGuard> failoverGuard) {
		return new ReplicationCoordinator(registry, errorSweep, properties, executor, meterRegistry, Clock.systemUTC(),
				failoverGuard.getIfAvailable());
	}

	/**
	 * Adds every {@link OperationListener} bean to the coordinator once all singletons
	 * exist, so that a listener may depend on the coordinator itself.
	 */
	@Bean
	static SmartInitializingSingleton operationListenerRegistrar(ObjectProvider<ReplicationCoordinator> coordinator,
			ObjectProvider<OperationListener> listeners) {
		return () -> {
			ReplicationCoordinator target = coordinator.getIfAvailable();
			if (target != null) {
				listeners.orderedStream().forEach(target::addListener);
			}
		};
	}

}
