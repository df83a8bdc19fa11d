"""Recommenders behind one interface (recommender.base.Recommender). Plain Python: no UI code here."""
