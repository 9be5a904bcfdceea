//! Permission checks: one decision for a member, an anonymous caller on a public project
//! and a system administrator, and the whole matrix.

use criterion::{Criterion, criterion_group, criterion_main};
use harbor_core::rbac::{Action, ProjectAccess, Resource, Role};

fn rbac(c: &mut Criterion) {
    let member = ProjectAccess {
        roles: vec![Role::Developer],
        ..Default::default()
    };
    let anonymous = ProjectAccess {
        public: true,
        ..Default::default()
    };
    let admin = ProjectAccess {
        sysadmin: true,
        ..Default::default()
    };
    let mut g = c.benchmark_group("rbac");
    for (name, who) in [
        ("developer", &member),
        ("anonymous, public", &anonymous),
        ("sysadmin", &admin),
    ] {
        g.bench_function(format!("one decision: {name} pushes"), |b| {
            b.iter(|| std::hint::black_box(who).allows(Resource::Repository, Action::Push))
        });
    }
    g.bench_function("whole matrix (22 resources x 10 actions), developer", |b| {
        b.iter(|| {
            let mut n = 0;
            for &r in Resource::ALL {
                for &a in Action::ALL {
                    n += usize::from(std::hint::black_box(&member).allows(r, a));
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, rbac);
criterion_main!(benches);
