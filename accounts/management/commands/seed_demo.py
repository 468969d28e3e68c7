"""Load the demo data. Safe to run again: it only creates what is missing."""

from datetime import date

from django.core.management.base import BaseCommand

from accounts import demo
from accounts.models import CreditStatus
from accounts.services import ensure_organization, ensure_user


class Command(BaseCommand):
    help = "Create (or complete) the demo organisations and users. Idempotent."

    def handle(self, *args, **options):
        created = 0
        orgs = {}
        for key, name, dept_type, region_code, org_code, org_type, region, province in demo.ORGANISATIONS:
            fields = {"name": name, "org_type": org_type, "region": region, "province": province}
            if key in demo.BLACKLISTED:
                fields.update(
                    credit_status=CreditStatus.BLACKLISTED,
                    blacklist_reason=demo.BLACKLISTED[key],
                    blacklisted_on=date(2024, 3, 15),
                )
            org, new = ensure_organization(
                actor=None, credit_code=demo.credit_code(dept_type, region_code, org_code), **fields
            )
            orgs[key] = org
            created += new

        for username, display_name, org_key, roles, extra in demo.USERS:
            flags = {f"is_{role}": True for role in roles}
            _, new = ensure_user(
                actor=None,
                username=username,
                password=demo.DEMO_PASSWORD,
                display_name=display_name,
                email=f"{username}@demo.jiebang.local",
                organization=orgs[org_key],
                **flags,
                **extra,
            )
            created += new

        for extension in self.extensions():
            created += extension(self.stdout) or 0

        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} objects created)."))
        self.stdout.write("Demo logins (demo only — never use these passwords in production):")
        for username, display_name, _org, roles, _extra in demo.USERS:
            self.stdout.write(f"  {username:<11} {demo.DEMO_PASSWORD}   {', '.join(roles)}  {display_name}")

    def extensions(self):
        """Later apps add their demo data here (calls, proposals, reviews)."""
        from calls.demo import seed_calls
        from experts.demo import seed_experts
        from proposals.demo import seed_proposals
        from reviews.demo import seed_reviews

        return [seed_calls, seed_proposals, seed_experts, seed_reviews]
